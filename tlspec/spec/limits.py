"""How much a spec file may make tlspec read: bounds that keep a hostile or broken file from
exhausting memory or time. Reaching one is a located problem that names the limit.

A spec is configuration. Data, however small, belongs in a file a data plugin reads
(``arrays``, ``text_classes``, …), so these bounds leave every real spec far inside them.
"""

MAX_SPEC_BYTES = 1_000_000   # size of one spec file (each file of an ``extends`` chain)
MAX_DEPTH = 64               # mappings and lists nested in one another, aliases expanded
MAX_VALUES = 100_000         # values in a document once aliases are expanded ("billion laughs")
MAX_INTEGER_DIGITS = 64      # digits of one integer
MAX_EXTENDS = 32             # files in one ``extends`` chain
