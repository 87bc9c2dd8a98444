"""The original service's training loop, the baseline of the `fit` figure: for k = 2..10, KMeans
(n_init=10) on all rows, then `silhouette_score` on all rows (O(n²)). Prints one line per step
(flushed) so that a run stopped at a time limit still tells how far it got.

    python -m benchmarks.full_silhouette customers.csv
"""
from __future__ import annotations

import sys
import time


def main(path: str) -> int:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    from training.reading.table import clean_file
    from training.selection.preprocess import make_preprocessor
    start = time.perf_counter()
    cleaned = clean_file(path)
    frame = cleaned.frame
    levels = [sorted(frame[c].dropna().unique().tolist()) for c in cleaned.categorical]
    z = make_preprocessor(cleaned.numeric, cleaned.categorical, levels).fit_transform(frame)
    print(f"prepared {len(z):,} rows in {time.perf_counter() - start:.1f} s", flush=True)
    for k in range(2, 11):
        t = time.perf_counter()
        labels = KMeans(n_clusters=k, n_init=10, random_state=42).fit_predict(z)
        print(f"k={k} fit {time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        score = silhouette_score(z, labels)
        print(f"k={k} silhouette {score:.4f} in {time.perf_counter() - t:.1f} s", flush=True)
    print(f"done in {time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
