"""dlws-api-shim: DLWorkspace's /child API (SubmitJob, KillJob, JobDetail, GetJobIP) for
running jobs, backed by DLWSJobs.

Layers, importing only downwards:
  main -> app -> routes -> auth (the caller's token -> its Family), child_job, detail, openapi
       -> keys: INDEX (job_index, fed by index_watch), STORE (store Protocol <- kube_store),
                ADMISSION (admission -> limits), METRICS, SETTINGS
       -> families (a Family: find, chain, authenticate) -> records ; dlws_contract
"""
