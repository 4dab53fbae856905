"""The review gate's side in the window: the dialogs that approve, edit or reject."""
