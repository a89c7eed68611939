"""Stage 1, the spec: YAML file -> validated spec, without TensorFlow.

``located_yaml`` parses YAML keeping every position, ``compose`` applies
``extends`` and ``--set``, ``language`` is the core spec model, ``sections``
validates each plugin section with its plugin's model, ``graph`` resolves
references and plans every component statically, ``checks`` and
``data_checks`` look across sections, and ``validate`` runs it all.
``json_schema`` turns the spec language into a JSON Schema for editors (in the
shapes ``editor_schema`` gives it); ``limits`` bounds what a file may make tlspec
read; ``keras_names`` lists the losses and metrics Keras resolves.

Nothing in this package may import TensorFlow or a later stage.
"""
