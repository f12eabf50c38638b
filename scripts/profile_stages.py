"""Instructions per request by stage, from callgrind_annotate's inclusive listings.

Used by scripts/profile-writes: arguments are triples LOAD REQUESTS ANNOTATED_FILE (the
output of `callgrind_annotate --inclusive=yes` for that load's dump). Prints a markdown
table: for each stage, the inclusive instructions of the functions that make it up, per
request, for each load.

A stage is a list of function-name patterns (regular expressions over callgrind's demangled
names, the crate path included). Inclusive counts nest, so a stage names functions that do
not call one another, and the stages are listed from the inside out where they could nest:
"left: the stack" is the total minus every stage above it, i.e. tokio, hyper, h2, tonic's
unary path, the guard layer and the kernel calls' user-space side. Code the compiler inlined
into a caller counts for that caller, which is why some stages are named by the function
that holds them.
"""

import re
import sys

# (stage, [patterns], flags...): the patterns' counts are added, or with "max" the largest is
# taken (for functions of which one holds the other, depending on inlining); a load's name as a
# flag limits the stage to that load. Patterns of different stages must not nest.
STAGES = [
    ("decode (protobuf request)", [r"ProstDecoder<U> as tonic::codec::Decoder>::decode$"]),
    # One of these holds the other, depending on what the compiler inlined: the larger counts.
    ("convert (request -> domain, field checks)", [r"^agenda::api::convert::report::request$", r"^agenda::api::requests::sessions::CreateSession::parse$"], "max"),
    ("validate (Session::validate)", [r"^agenda::domain::session::Session::validate$"]),
    ("read the stored session (UpdateSlot)", [r"agenda::app::Agenda>::get_session::\{\{closure\}\}$"]),
    (
        "change (update_slot, carry_over, compare)",
        [r"Session>::update_slot$", r"Session>::carry_over$", r"<agenda::domain::session::Session as core::cmp::PartialEq>::eq$"],
    ),
    ("copies of the session (Session::clone)", [r"^<agenda::domain::session::Session as core::clone::Clone>::clone$"]),
    (
        "encode the record (postcard) and its index fields (Doc)",
        [
            r"Serialize for agenda::store::records::session::SessionRecord>::serialize$",
            r"^agenda::store::records::session::slot_record$",
            r"^agenda::store::memindex::Doc::of$",
        ],
    ),
    ("read before the write (the stored record's index fields)", [r"SledStore>::current_session$"]),
    ("log + record (two sled inserts, under the sequencer)", [r"SledStore>::sequence$"]),
    (
        "index (under the sequencer)",
        [r"^agenda::store::memindex::Indexes::put_session$", r"^agenda::store::memindex::Indexes::missing_person$"],
    ),
    ("flush wait (writer side) + the flusher thread", [r"GroupCommit>::wait_durable$", r"^agenda::store::group_commit::flusher$"]),
    ("the floor's one insert", [r"^agenda::store::sled::SledStore::floor_insert$", r"sled::tree::Tree::insert$"], "max", "floor"),
    ("answer (domain -> protobuf)", [r"^agenda::api::convert::sessions::session_view_out$"]),
    ("encode (protobuf answer)", [r"ProstEncoder<T> as tonic::codec::Encoder>::encode$"]),
]


def read(path):
    """{function: inclusive Ir} and the program total from an annotated listing."""
    funcs, total = {}, None
    line_re = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(?:\*\s+)?(.*?)\s*(?:\[[^\]]*\])?$")
    for line in open(path, encoding="utf-8", errors="replace"):
        if total is None and "PROGRAM TOTALS" in line:
            total = int(line.split()[0].replace(",", ""))
            continue
        m = line_re.match(line)
        if not m or ":" not in m.group(2):
            continue
        ir = int(m.group(1).replace(",", ""))
        name = m.group(2).split(":", 1)[1] if not m.group(2).startswith("0x") else m.group(2)
        funcs[name] = max(funcs.get(name, 0), ir)
    return funcs, total


def main(argv):
    loads = []
    for i in range(0, len(argv), 3):
        load, requests, path = argv[i], int(argv[i + 1]), argv[i + 2]
        loads.append((load, requests, *read(path)))
    header = "| stage | " + " | ".join(f"{l} (Ir/request)" for l, *_ in loads) + " |"
    print(header)
    print("|---" * (len(loads) + 1) + "|")
    rest = {l: t for l, _, _, t in loads}
    for stage, patterns, *flags in STAGES:
        cells = []
        for load, requests, funcs, total in loads:
            only = [f for f in flags if f != "max"]
            if only and load not in only:
                cells.append("-")
                continue
            counts = [sum(v for name, v in funcs.items() if re.search(p, name)) for p in patterns]
            ir = max(counts) if "max" in flags else sum(counts)
            rest[load] -= ir
            cells.append(f"{ir / requests:,.0f}" if ir else "-")
        print(f"| {stage} | " + " | ".join(cells) + " |")
    print("| left: the stack (tokio, hyper, h2, tonic, the guard) and the rest | "
          + " | ".join(f"{rest[l] / r:,.0f}" for l, r, _, _ in loads) + " |")
    print("| **total** | " + " | ".join(f"**{t / r:,.0f}**" for _, r, _, t in loads) + " |")
    print("| requests counted | " + " | ".join(f"{r:,}" for _, r, _, _ in loads) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
