"""Job `train`: two-tower retrieval beside most-popular and iALS, tracked in MLflow and registered.

python jobs/train.py --conf conf/local.yaml --set train.nproc=2     # DDP over gloo here, nccl on GPUs
spark-submit --py-files dist/socialflywheel-0.1.0-py3-none-any.whl jobs/train.py --conf conf/cluster-gpu.yaml
"""

from socialflywheel.cli import job_main

if __name__ == "__main__":
    job_main("train")
