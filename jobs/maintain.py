"""Job `maintain`: Retention, compaction, vacuum and log clean-up of every table (makes erasure physical).

python jobs/maintain.py --conf conf/local.yaml
spark-submit --py-files dist/socialflywheel-0.1.0-py3-none-any.whl jobs/maintain.py --conf conf/cluster-cpu.yaml
"""

from socialflywheel.cli import job_main

if __name__ == "__main__":
    job_main("maintain")
