"""A PIM's catalog events: their envelope and schemas, the catalog they build, the product view mapped."""
