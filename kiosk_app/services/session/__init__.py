"""The citizen's session: a facade over a typed core, one class per journey."""
