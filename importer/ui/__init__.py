"""`importer ui`: the migration in a local web page (see `app`), for those who never open a terminal."""
