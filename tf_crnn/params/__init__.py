"""The configuration system: :class:`~tf_crnn.params.params.Params` and its sections, declared field
by field (:mod:`~tf_crnn.params.fields`), resolved from config files and ``field=value`` updates
(:mod:`~tf_crnn.params.resolve`), documented from the declarations (:mod:`~tf_crnn.params.reference`)."""
