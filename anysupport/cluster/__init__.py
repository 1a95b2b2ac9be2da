"""Several nodes on one database: who is alive, where a session lives, what one node tells another.

The rules are plain classes with an injected clock (``rules.py``); ``bus.Cluster`` runs them against the
store (heartbeats, the events collection or a change stream); ``consoles.ClusterConsoles`` is what the
login and account rules call to reach a console on whichever node holds it. See docs/deployment.md,
"Several nodes", and docs/architecture.md, "Scale".
"""
