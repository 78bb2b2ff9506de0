"""chatdapp core services: config, errors, chain client, devnet, tokens, amounts and the services built on them.

Public entry points live in their modules (``app.errors``, ``app.config``, ``app.chain``,
``app.devnet``, ``app.tokens``, ``app.amounts``); faces (CLI, page) import from there.
"""
