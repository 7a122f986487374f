"""The contract between the /child API shim and the DLWSJob operator.

Written once, imported by both: resource names, labels, status fields, the family
token digest and the shape of a job spec. Nothing here talks to Kubernetes.
"""
