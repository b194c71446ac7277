"""The Spark-free recommender core: prepared shards, the two-tower model, the training loop, metrics.

Every module under ``core`` imports only the standard library, NumPy, PyArrow and PyTorch, so the
training loop runs on a GPU machine that has no Spark, Sail, Delta or MLflow. Tracking, Delta reads
and the registry wrap this package from the outside (``socialflywheel.recsys``), never from inside.
"""
