package arch

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The layering of the module, checked on the import graph `go list` reports (non-test imports: what a
// package's tests import is not part of its border).
//
//	algo/...        pure: the standard library, algo/... itself and gonum; no network, no wire format
//	consensus       the state machine: the standard library minus I/O; no other package of the project
//	p2p/...         the only users of libp2p (and multiaddr), and the only user of msgpack (p2p/wire)
//	node/storage    the StateDir: the standard library and consensus, nothing of libp2p
//	node/relay      the vote relay's keys, MACs and bookkeeping: consensus and p2p/wire, no libp2p, no host
//	node/liveness   who is presumed dead or distrusted: the standard library only, no I/O
//	node/amnesia    the heights a peer that may have forgotten its votes sits out: likewise
//	node/statesync  serving, fetching and checking certified states: algo/, node/roster, p2p, no libp2p
//	node/byzantine  a Byzantine peer's attacks: act through their Env (node implements it), never import node
//	node/...        wiring: anything above, but no testnet/ and no cmd/
//	testnet/...     the experiment harness: may import anything but cmd/
//	cmd/...         the binaries: anything but testnet/ (cmd/testnet is the harness's own binary)
//
// A rule that does not hold today is listed in exceptions, with its reason: the list is the debt. An
// exception that no longer occurs fails the test too, so the list only shrinks.

const module = "github.com/byzpp/byzpp"

// exceptions: package (relative to the module) -> forbidden import prefix, as written in the rules
// -> why it is allowed for now.
var exceptions = map[string]map[string]string{
	"node/roster": {
		libp2p: "issue 13: the member list keys members by libp2p peer.ID and checks change proofs with libp2p public keys",
	},
	"cmd/peer": {
		libp2p:               "issue 13: key files (peer keygen, fetchgenesis) and the control endpoint decode libp2p keys and peer IDs directly",
		module + "/testnet/": "issue 13: peer keygen uses testnet/experiment; cmd/peer is being reworked by another engineer",
	},
}

const (
	libp2p       = "github.com/libp2p/"
	multiformats = "github.com/multiformats/"
	msgpack      = "github.com/vmihailenco/msgpack/"
)

// ioStd are standard packages a pure package must not import directly.
var ioStd = []string{"os", "os/", "net", "net/", "syscall", "io/ioutil", "io/fs", "path/filepath", "embed", "plugin", "unsafe"}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
	Error      *struct{ Err string }
}

// rule says what a package under prefix (a path relative to the module, "" for every package) must not
// import: forbid are prefixes of full import paths (a trailing "/" matches the package and below,
// exact otherwise); own lists the only project packages it may import (prefixes relative to the
// module), nil for any; deps, whether forbid applies to every transitive dependency, not only to direct
// imports.
type rule struct {
	name   string
	prefix string
	skip   []string // sub-prefixes the rule does not cover
	forbid []string
	own    []string
	deps   bool
}

var rules = []rule{
	{name: "algo is pure", prefix: "algo/",
		forbid: []string{libp2p, multiformats, msgpack, "net", "net/"}, own: []string{"algo/"}, deps: true},
	{name: "consensus does no I/O and stands alone", prefix: "consensus",
		forbid: append([]string{libp2p, multiformats, msgpack}, ioStd...), own: []string{"consensus"}},
	{name: "consensus depends on nothing outside the standard library", prefix: "consensus",
		forbid: []string{libp2p, multiformats, msgpack, "github.com/", "golang.org/", "gonum.org/"}, deps: true},
	{name: "only p2p uses libp2p", prefix: "", skip: []string{"p2p", "testnet/"},
		forbid: []string{libp2p, multiformats}},
	{name: "only p2p/wire uses msgpack", prefix: "", skip: []string{"p2p/wire"}, forbid: []string{msgpack}},
	{name: "p2p knows nothing of training or consensus", prefix: "p2p",
		own: []string{"p2p"}},
	{name: "node/storage knows bytes, not the network", prefix: "node/storage",
		forbid: []string{libp2p, multiformats, msgpack, "net", "net/"}, own: []string{"consensus", "node/storage"}, deps: true},
	{name: "node/relay knows keys and frames, not the host", prefix: "node/relay",
		forbid: []string{libp2p, multiformats, msgpack, "net", "net/"}, own: []string{"consensus", "p2p/wire", "node/relay"}},
	{name: "node/amnesia is bookkeeping: the standard library only, no I/O", prefix: "node/amnesia",
		forbid: append([]string{libp2p, multiformats, msgpack}, ioStd...), own: []string{"node/amnesia"}},
	{name: "node/statesync serves, fetches and checks states over p2p.Network, never libp2p", prefix: "node/statesync",
		forbid: []string{libp2p, multiformats, msgpack, "net", "net/"},
		own:    []string{"algo/", "node/roster", "p2p", "node/statesync"}},
	{name: "node/liveness is bookkeeping: the standard library only, no I/O", prefix: "node/liveness",
		forbid: append([]string{libp2p, multiformats, msgpack}, ioStd...), own: []string{"node/liveness"}},
	{name: "node/byzantine acts through its Env, never on the node", prefix: "node/byzantine",
		forbid: []string{libp2p, multiformats, msgpack, "net", "net/"},
		own:    []string{"algo/", "consensus", "p2p", "node/adversary", "node/engine", "node/byzantine"}},
	{name: "the library does not import the harness or the binaries", prefix: "", skip: []string{"testnet/", "cmd/"},
		forbid: []string{module + "/testnet/", module + "/cmd/"}},
	{name: "the harness does not import the binaries", prefix: "testnet/", forbid: []string{module + "/cmd/"}},
	{name: "a binary does not import the harness", prefix: "cmd/", skip: []string{"cmd/testnet"},
		forbid: []string{module + "/testnet/"}},
}

func TestLayering(t *testing.T) {
	pkgs := list(t)
	used := map[[2]string]bool{}
	for _, p := range pkgs {
		rel, ok := strings.CutPrefix(p.ImportPath, module)
		if !ok {
			continue
		}
		rel = strings.TrimPrefix(rel, "/")
		if p.Error != nil {
			t.Errorf("%s: %s", p.ImportPath, p.Error.Err)
			continue
		}
		for _, r := range rules {
			if !under(rel, r.prefix) || slices.ContainsFunc(r.skip, func(s string) bool { return under(rel, s) }) {
				continue
			}
			imports := p.Imports
			if r.deps {
				imports = p.Deps
			}
			for _, imp := range imports {
				bad := ""
				for _, f := range r.forbid {
					if match(imp, f) {
						bad = f
						break
					}
				}
				if own, ok := strings.CutPrefix(imp, module+"/"); ok && r.own != nil && bad == "" &&
					!slices.ContainsFunc(r.own, func(o string) bool { return under(own, o) }) {
					bad = module + "/" + own
				}
				if bad == "" {
					continue
				}
				if key := exceptionFor(rel, imp); key != "" {
					used[[2]string{rel, key}] = true
					continue
				}
				verb := "imports"
				if r.deps {
					verb = "depends on"
				}
				t.Errorf("%s %s %s: breaks %q", rel, verb, imp, r.name)
			}
		}
	}
	for p, m := range exceptions {
		for k, why := range m {
			if !used[[2]string{p, k}] {
				t.Errorf("exception %s -> %s no longer occurs: remove it from the list (%s)", p, k, why)
			}
		}
	}
}

// exceptionFor returns the key of the listed exception covering rel's import imp, or "".
func exceptionFor(rel, imp string) string {
	for k := range exceptions[rel] {
		if match(imp, k) {
			return k
		}
	}
	return ""
}

// under reports whether the relative package path rel is prefix or below it ("x/" matches x's
// subpackages only, "" everything).
func under(rel, prefix string) bool {
	switch {
	case prefix == "":
		return true
	case strings.HasSuffix(prefix, "/"):
		return strings.HasPrefix(rel, prefix)
	default:
		return rel == prefix || strings.HasPrefix(rel, prefix+"/")
	}
}

// match reports whether the import path imp is matched by the forbidden prefix f: a trailing "/"
// matches every path below, otherwise the path itself.
func match(imp, f string) bool {
	if strings.HasSuffix(f, "/") {
		return strings.HasPrefix(imp, f)
	}
	return imp == f
}

// list runs `go list -e -json ./...` from the module root (two directories up).
func list(t *testing.T) []pkg {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gobin, "list", "-e", "-json=ImportPath,Imports,Deps,Standard,Error", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages in %s: not the module root?", len(pkgs), root)
	}
	touchSources(t, root)
	return pkgs
}

// touchSources reads every directory of the module and stats every Go file and go.mod in it. go test
// caches a result by the files the test process itself opened, not by what `go list` read, so without
// this a cached pass would hide an import added since.
func touchSources(t *testing.T, root string) {
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") || name == "go.mod" {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
