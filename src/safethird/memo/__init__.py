"""The memo: a determination written out for a lawyer to read beside the law.

``phrasebook`` holds the sentences (one data file per language, keyed by clause id), ``build``
turns a determination into the memo's parts, and ``safethird.explain`` renders them as text,
Markdown or HTML. Nothing here decides anything: it reads the determination and the law data.
"""
