"""The Textual debugger: it renders engine state and sends the engine commands, nothing more."""
