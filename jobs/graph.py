"""Job `graph`: follow and engagement graphs -> gold.graph_centrality, graph_communities, people_you_may_know.

python jobs/graph.py --conf conf/local.yaml
spark-submit --py-files dist/socialflywheel-0.1.0-py3-none-any.whl jobs/graph.py --conf conf/cluster-gpu.yaml
"""

from socialflywheel.cli import job_main

if __name__ == "__main__":
    job_main("graph")
