"""The consoles: the screens the people on the phone work in, composed from every domain's services."""
