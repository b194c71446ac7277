"""The report stage: one self-contained HTML page of the gold tables, the latest model run and fairness.

``job.run_report`` is the job function (``flywheel report``); ``data`` holds the pure aggregations
(k-suppression applied again), ``sections`` what each section shows, ``html`` the Jinja2 environment and
the values the templates render, and ``templates/`` all the markup (every value escaped by Jinja2).
"""
