"""Job `erase`: GDPR erasure: remove people (raw ids) and everything derived from them from every table.

python jobs/erase.py --conf conf/local.yaml --user u000123 --user u000456
spark-submit --py-files dist/socialflywheel-0.1.0-py3-none-any.whl jobs/erase.py --conf conf/cluster-cpu.yaml
"""

from socialflywheel.cli import job_main

if __name__ == "__main__":
    job_main("erase")
