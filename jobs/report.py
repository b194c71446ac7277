"""Job `report`: gold tables, the latest train run and recommendation fairness -> one self-contained HTML report.

python jobs/report.py --conf conf/local.yaml
"""

from socialflywheel.cli import job_main

if __name__ == "__main__":
    job_main("report")
