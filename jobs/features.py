"""Job `features`: silver -> gold features (user/item snapshots, trends, sentiment, campaigns, segments,
account risk, point-in-time training examples), incremental by day.

    python jobs/features.py --conf conf/local.yaml
    spark-submit --properties-file infra/spark/spark-defaults-gpu.conf \
      --py-files dist/socialflywheel-0.1.0-py3-none-any.whl jobs/features.py --conf conf/cluster-gpu.yaml
"""

from socialflywheel.cli import job_main

if __name__ == "__main__":
    job_main("features")
