"""Stages 2 and 3, mapping and checking: headers become fields (a mapping file for another
system's export, `importer map`'s suggestions), cells become API values (normalizing, one rule
per field), and every row is validated before anything is sent."""
