"""Job `federated`: federated trend discovery, or the two-tower trained on devices (Flower).

python jobs/federated.py --conf conf/local.yaml
spark-submit --py-files dist/socialflywheel-0.1.0-py3-none-any.whl jobs/federated.py --conf conf/cluster-cpu.yaml
"""

from socialflywheel.cli import job_main

if __name__ == "__main__":
    job_main("federated")
