"""Training from the Space: caps and the pre-parse check (`limits`), the confined worker process
(`launcher`). The server never imports `training/`: it starts `python -m training.worker`."""
