"""Pushing runs to a team server (:mod:`wattwise.server`) from where they happen: the push spool
and its HTTP client (:mod:`.client`, standard library only: a training machine needs no web
framework) and :class:`.sink.ServerSink`, the tracker sink that the Python API and the
integrations add when ``$WATTWISE_SERVER_URL`` is set (:func:`.sink.with_env_sink`)."""
