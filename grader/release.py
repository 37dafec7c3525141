"""nbgrader preprocessors that shape the student release and the grading run.

nbgrader replaces a solution cell with a Python stub, which breaks a
``%%writefile`` cell of JSON: the stub lines land in the JSON file.  The
preprocessor here keeps the cell magic line and puts a per-cell skeleton
under it, so the released answer cell still writes a file that parses.
"""

from nbgrader import utils
from nbgrader.preprocessors import ClearSolutions
from traitlets import Dict


class ClearMagicSolutions(ClearSolutions):
    """Replace solution cells, keeping a leading cell magic and using a skeleton."""

    stubs = Dict(
        {},
        help="Skeleton source for whole-cell solutions, keyed by grade_id.",
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        magic, body = _split_cell_magic(cell.source)
        stub = self.stubs.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if not (utils.is_solution(cell) and magic and stub is not None):
            return super().preprocess_cell(cell, resources, cell_index)

        if self.begin_solution_delimeter in body:
            raise RuntimeError(
                "a cell-magic answer cell must be a whole-cell solution "
                "without solution delimiters"
            )
        cell.source = magic + "\n" + stub.strip("\n")
        return cell, resources


def _split_cell_magic(source):
    """Split ``%%magic args`` off the top of a cell; ("", source) if none."""
    first, _, rest = source.partition("\n")
    if first.startswith("%%"):
        return first, rest
    return "", source
