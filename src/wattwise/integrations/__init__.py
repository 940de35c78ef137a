"""Where training happens: integrations with frameworks, launchers and monitoring systems.

Each integration is a subpackage or module imported on its own (``import
wattwise.integrations.distributed``); importing this package imports none of them, so an
integration's framework (torch, transformers, ...) is loaded only by code that uses it.
"""
