-- Segment rules: 5 segments; fidelity 97.5% (share of the 2,970 training customers these rules put in the model's segment).
-- Input: a table named customers with the CSV's own columns (text or numbers). Output: every column plus segment_id.
-- Runs unchanged in SQLite, DuckDB and PostgreSQL. Normalisation as the model: cells trimmed, empty = missing, missing numbers = training median, missing categories = most frequent level, categories case-insensitive with 'and' = '&'.
-- segment_id is NULL where the model rejects the row (not a number, outside the limits, unknown category).
-- segment 0 (Younger · newer customers): [income < 41,120 and spending score ≥ 47] OR [41,120 ≤ income < 62,800 and spending score ≥ 53 and membership years < 4]
-- segment 1 (Prefers Groceries): [income < 41,120 and spending score < 47] OR [41,120 ≤ income < 62,800 and spending score < 53] OR [62,800 ≤ income < 101,000 and spending score < 44]
-- segment 2 (Average · long-standing customers, prefers Sports): [41,120 ≤ income < 62,800 and spending score ≥ 53 and membership years ≥ 4] OR [62,800 ≤ income < 101,000 and spending score ≥ 44]
-- segment 3 (Premium · large baskets, long-standing customers): [income ≥ 101,000 and purchase frequency ≥ 17]
-- segment 4 (Potential · infrequent buyers, older): [income ≥ 101,000 and purchase frequency < 17]
SELECT customers.*,
  CASE
    -- age: not a number
    WHEN NULLIF(TRIM(CAST("age" AS VARCHAR), '	
                  　'), '') IS NOT NULL AND TRIM(TRIM(CAST("age" AS VARCHAR), '	
                  　'), '0123456789.+-eE') <> '' THEN NULL
    -- income: not a number
    WHEN NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') IS NOT NULL AND TRIM(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '0123456789.+-eE') <> '' THEN NULL
    -- spending_score: not a number
    WHEN NULLIF(TRIM(CAST("spending_score" AS VARCHAR), '	
                  　'), '') IS NOT NULL AND TRIM(TRIM(CAST("spending_score" AS VARCHAR), '	
                  　'), '0123456789.+-eE') <> '' THEN NULL
    -- membership_years: not a number
    WHEN NULLIF(TRIM(CAST("membership_years" AS VARCHAR), '	
                  　'), '') IS NOT NULL AND TRIM(TRIM(CAST("membership_years" AS VARCHAR), '	
                  　'), '0123456789.+-eE') <> '' THEN NULL
    -- purchase_frequency: not a number
    WHEN NULLIF(TRIM(CAST("purchase_frequency" AS VARCHAR), '	
                  　'), '') IS NOT NULL AND TRIM(TRIM(CAST("purchase_frequency" AS VARCHAR), '	
                  　'), '0123456789.+-eE') <> '' THEN NULL
    -- last_purchase_amount: not a number
    WHEN NULLIF(TRIM(CAST("last_purchase_amount" AS VARCHAR), '	
                  　'), '') IS NOT NULL AND TRIM(TRIM(CAST("last_purchase_amount" AS VARCHAR), '	
                  　'), '0123456789.+-eE') <> '' THEN NULL
    -- age: outside its limits
    WHEN COALESCE(CAST(NULLIF(TRIM(CAST("age" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 34) < 0 OR COALESCE(CAST(NULLIF(TRIM(CAST("age" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 34) > 250 THEN NULL
    -- income: outside its limits
    WHEN COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) < 0 OR COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) > 600000 THEN NULL
    -- spending_score: outside its limits
    WHEN COALESCE(CAST(NULLIF(TRIM(CAST("spending_score" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 60) < 0 OR COALESCE(CAST(NULLIF(TRIM(CAST("spending_score" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 60) > 300 THEN NULL
    -- membership_years: outside its limits
    WHEN COALESCE(CAST(NULLIF(TRIM(CAST("membership_years" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 4) < 0 OR COALESCE(CAST(NULLIF(TRIM(CAST("membership_years" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 4) > 30 THEN NULL
    -- purchase_frequency: outside its limits
    WHEN COALESCE(CAST(NULLIF(TRIM(CAST("purchase_frequency" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 27) < 0 OR COALESCE(CAST(NULLIF(TRIM(CAST("purchase_frequency" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 27) > 150 THEN NULL
    -- last_purchase_amount: outside its limits
    WHEN COALESCE(CAST(NULLIF(TRIM(CAST("last_purchase_amount" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 162.63) < 0 OR COALESCE(CAST(NULLIF(TRIM(CAST("last_purchase_amount" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 162.63) > 3000 THEN NULL
    -- gender: not one of Female, Male, Other
    WHEN COALESCE(NULLIF(REPLACE(LOWER(TRIM(CAST("gender" AS VARCHAR), '	
                  　')), ' and ', ' & '), ''), 'female') NOT IN ('female', 'male', 'other') THEN NULL
    -- preferred_category: not one of Clothing, Electronics, Groceries, Home & Garden, Sports
    WHEN COALESCE(NULLIF(REPLACE(LOWER(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(TRIM(CAST("preferred_category" AS VARCHAR), '	
                  　'), '	', ' '), '
', ' '), '', ' '), ' ', ' '), ' ', ' '), '  ', ' '), '  ', ' '), '  ', ' '), '  ', ' ')), ' and ', ' & '), ''), 'groceries') NOT IN ('clothing', 'electronics', 'groceries', 'home & garden', 'sports') THEN NULL
    -- segment 1: income < 41,120 and spending score < 47
    WHEN COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) < 41120 AND COALESCE(CAST(NULLIF(TRIM(CAST("spending_score" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 60) < 47 THEN 1
    -- segment 0: income < 41,120 and spending score ≥ 47
    WHEN COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) < 41120 AND COALESCE(CAST(NULLIF(TRIM(CAST("spending_score" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 60) >= 47 THEN 0
    -- segment 1: 41,120 ≤ income < 62,800 and spending score < 53
    WHEN COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) >= 41120 AND COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) < 62800 AND COALESCE(CAST(NULLIF(TRIM(CAST("spending_score" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 60) < 53 THEN 1
    -- segment 0: 41,120 ≤ income < 62,800 and spending score ≥ 53 and membership years < 4
    WHEN COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) >= 41120 AND COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) < 62800 AND COALESCE(CAST(NULLIF(TRIM(CAST("spending_score" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 60) >= 53 AND COALESCE(CAST(NULLIF(TRIM(CAST("membership_years" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 4) < 4 THEN 0
    -- segment 2: 41,120 ≤ income < 62,800 and spending score ≥ 53 and membership years ≥ 4
    WHEN COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) >= 41120 AND COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) < 62800 AND COALESCE(CAST(NULLIF(TRIM(CAST("spending_score" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 60) >= 53 AND COALESCE(CAST(NULLIF(TRIM(CAST("membership_years" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 4) >= 4 THEN 2
    -- segment 1: 62,800 ≤ income < 101,000 and spending score < 44
    WHEN COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) >= 62800 AND COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) < 101000 AND COALESCE(CAST(NULLIF(TRIM(CAST("spending_score" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 60) < 44 THEN 1
    -- segment 2: 62,800 ≤ income < 101,000 and spending score ≥ 44
    WHEN COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) >= 62800 AND COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) < 101000 AND COALESCE(CAST(NULLIF(TRIM(CAST("spending_score" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 60) >= 44 THEN 2
    -- segment 4: income ≥ 101,000 and purchase frequency < 17
    WHEN COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) >= 101000 AND COALESCE(CAST(NULLIF(TRIM(CAST("purchase_frequency" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 27) < 17 THEN 4
    -- segment 3: income ≥ 101,000 and purchase frequency ≥ 17
    WHEN COALESCE(CAST(NULLIF(TRIM(CAST("income" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 58730) >= 101000 AND COALESCE(CAST(NULLIF(TRIM(CAST("purchase_frequency" AS VARCHAR), '	
                  　'), '') AS DOUBLE PRECISION), 27) >= 17 THEN 3
    ELSE NULL
  END AS segment_id
FROM customers;
