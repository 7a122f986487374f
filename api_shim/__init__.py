"""dlws-api-shim: DLWorkspace's /child API (SubmitJob, KillJob, JobDetail, GetJobIP) for
running jobs, backed by DLWSJobs.

Layers, importing only downwards:
  main -> app -> routes -> (auth, families, limits, params, child_job, detail, openapi)
       -> store (Protocol) <- kube_store (kubernetes.aio) | tests/memory_store
       -> job_index <- index_watch (list + watch) ; records ; dlws_contract
"""
