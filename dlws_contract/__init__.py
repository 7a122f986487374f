"""The contract between the /child API shim and the DLWSJob operator.

Written once, imported by both: resource names, labels, status fields, the family
token digest and the shape of a job spec; and the two ways both talk to the API
server (kube_api: plain-JSON calls; list_watch: a cache kept by list + watch).
"""
