"""recsys stage: two-tower retrieval, baselines, evaluation and the faiss index.

``recsys.core`` is the Spark-free part (torch, numpy, pyarrow only): the prepared-shard contract
(:mod:`.core.data`), the model (:mod:`.core.model`), the training loop (:mod:`.core.train_loop`),
metrics and embeddings. The modules beside it (baselines, evaluate, index, distributor) may use
``implicit``, scipy, pandas, faiss or pyspark; tracking and Delta reads wrap all of it from outside.
"""
