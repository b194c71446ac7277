"""Graph analytics: follow and engagement graphs, centrality, communities and people you may know.

``job.run_graph`` is the job function (``flywheel graph``); importing this package imports neither Spark nor a
graph library.
"""
