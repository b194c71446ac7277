"""Job `recommend`: top-K recommendations per user from the serving model through a faiss index -> gold.recommendations.

python jobs/recommend.py --conf conf/local.yaml
spark-submit --py-files dist/socialflywheel-0.1.0-py3-none-any.whl jobs/recommend.py --conf conf/cluster-gpu.yaml
"""

from socialflywheel.cli import job_main

if __name__ == "__main__":
    job_main("recommend")
