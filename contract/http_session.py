"""Moved to dlws_contract.kube_api; kept until the last importer (bench/kube.py) switches."""
from dlws_contract.kube_api import PROXY_VARIABLES, client_session_kwargs

__all__ = ["PROXY_VARIABLES", "client_session_kwargs"]
