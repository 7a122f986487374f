"""dlws-operator: reconciles each DLWSJob into one Pod, gives each family its secret token,
and mirrors the Pod into the DLWSJob's status. Kubernetes garbage collection does the kill.

Installed as ``dlws_operator``: a package importable as ``operator`` would shadow the
standard library module of that name.
"""
