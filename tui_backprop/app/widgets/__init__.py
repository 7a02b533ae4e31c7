"""The debugger's panels, one module each."""
