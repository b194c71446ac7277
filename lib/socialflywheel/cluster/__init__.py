"""Running the jobs on a Spark cluster: the executors' packed Python environment and the spark-submit line."""
