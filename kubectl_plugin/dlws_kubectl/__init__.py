"""kubectl-dlws: a kubectl plugin that draws a DLWSJob family as a tree
(`kubectl dlws tree <job>`). It only reads DLWSJobs (get, list, watch).

Layers, importing only downwards:
  cli -> family (GET, LIST, watch through dlws_contract) -> connection (the API client)
      -> tree_view (pure: jobs + now -> lines) -> age (pure) ; dlws_contract
"""
