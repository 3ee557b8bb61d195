// Package buildroot holds the Buildroot BR2_EXTERNAL tree (no Go code). Buildroot cannot run
// here, so this test checks that the tree agrees with the rest of the project: the Go module,
// package and binary names, the init it installs, and the partitions' names and sizes against
// scripts/image.d/partitions, which `make image` builds.
package buildroot

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// partition is a line of scripts/image.d/partitions.
type partition struct {
	name string
	mib  int
}

func projectPartitions(t *testing.T) []partition {
	t.Helper()
	f, err := os.Open("../scripts/image.d/partitions")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []partition
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) == 0 || strings.HasPrefix(w[0], "#") {
			continue
		}
		if len(w) != 4 {
			t.Fatalf("scripts/image.d/partitions: %q has %d fields, want 4", sc.Text(), len(w))
		}
		mib, err := strconv.Atoi(w[1])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, partition{w[0], mib})
	}
	if len(out) == 0 {
		t.Fatal("scripts/image.d/partitions lists no partitions")
	}
	return out
}

// makeVars reads NAME = VALUE lines of a Buildroot .mk file.
func makeVars(t *testing.T, path string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^([A-Z0-9_]+)\s*=\s*(.*)$`).FindAllStringSubmatch(string(mustRead(t, path)), -1) {
		vars[m[1]] = strings.TrimSpace(m[2])
	}
	return vars
}

// defconfig reads a Buildroot defconfig.
func defconfig(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(string(mustRead(t, path)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}

func TestExternalTree(t *testing.T) {
	desc, err := os.ReadFile("external.desc")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^name: SWARMBOX$`).Match(desc) {
		t.Errorf("external.desc must name the tree SWARMBOX (the configs use $(BR2_EXTERNAL_SWARMBOX_PATH)):\n%s", desc)
	}
	cfg, _ := os.ReadFile("Config.in")
	pkgs, _ := filepath.Glob("package/*/Config.in")
	for _, p := range pkgs {
		if !strings.Contains(string(cfg), `"$BR2_EXTERNAL_SWARMBOX_PATH/`+p+`"`) {
			t.Errorf("Config.in does not source %s", p)
		}
	}
	if mk, _ := os.ReadFile("external.mk"); !strings.Contains(string(mk), "$(BR2_EXTERNAL_SWARMBOX_PATH)/package/*/*.mk") {
		t.Errorf("external.mk does not include the packages' .mk files")
	}
}

func TestPackageMatchesProject(t *testing.T) {
	v := makeVars(t, "package/swarmbox/swarmbox.mk")
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	module := regexp.MustCompile(`(?m)^module (\S+)`).FindSubmatch(gomod)
	if module == nil || v["SWARMBOX_GOMOD"] != string(module[1]) {
		t.Errorf("SWARMBOX_GOMOD = %q, go.mod's module is %q", v["SWARMBOX_GOMOD"], module)
	}
	if !strings.Contains(string(mustRead(t, "package/swarmbox/swarmbox.mk")), "$(eval $(golang-package))") {
		t.Error("package/swarmbox must use the golang-package infrastructure")
	}
	if !strings.Contains(v["SWARMBOX_GO_ENV"], "CGO_ENABLED=0") {
		t.Error("the package must build with CGO off, as make image does")
	}
	targets := strings.Fields(v["SWARMBOX_BUILD_TARGETS"])
	bins := strings.Fields(v["SWARMBOX_INSTALL_BINS"])
	if len(targets) == 0 || len(targets) != len(bins) {
		t.Fatalf("build targets %v and installed binaries %v do not pair up", targets, bins)
	}
	rc := string(mustRead(t, "../scripts/image.d/rc"))
	image := string(mustRead(t, "../scripts/image"))
	for i, target := range targets {
		main := filepath.Join("..", target, "main.go")
		if b, err := os.ReadFile(main); err != nil || !strings.Contains(string(b), "package main") {
			t.Errorf("build target %s is not a main package of the project (%v)", target, err)
		}
		if filepath.Base(target) != bins[i] {
			t.Errorf("build target %s installs as %s: the names must match", target, bins[i])
		}
		if !strings.Contains(rc, bins[i]+" run") || !strings.Contains(image, "./"+target) {
			t.Errorf("the init or scripts/image does not use %s", bins[i])
		}
	}
	pc := string(mustRead(t, "package/swarmbox/Config.in"))
	if !strings.Contains(pc, "config BR2_PACKAGE_SWARMBOX\n") || !strings.Contains(pc, "select BR2_PACKAGE_DBUS") {
		t.Error("package/swarmbox/Config.in must define BR2_PACKAGE_SWARMBOX and select dbus (the box's API bus)")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBoardsMatchImage(t *testing.T) {
	parts := projectPartitions(t)
	boards := map[string]string{ // defconfig → board folder
		"configs/swarmbox_qemu_aarch64_virt_defconfig": "board/qemu_aarch64_virt",
		"configs/swarmbox_raspberrypi4_64_defconfig":   "board/raspberrypi4-64",
	}
	found, _ := filepath.Glob("configs/*_defconfig")
	if len(found) != len(boards) {
		t.Errorf("configs holds %v; this test knows %d boards", found, len(boards))
	}
	for def, board := range boards {
		t.Run(filepath.Base(board), func(t *testing.T) {
			c := defconfig(t, def)
			for _, k := range []string{"BR2_PACKAGE_SWARMBOX", "BR2_PACKAGE_DBUS", "BR2_aarch64", "BR2_TARGET_ROOTFS_EXT2_4", "BR2_PACKAGE_HOST_GENIMAGE"} {
				if c[k] != "y" {
					t.Errorf("%s: %s is not y", def, k)
				}
			}
			// The first partition is the root (slot a); the slots' file systems are labelled root.
			label := strings.TrimSuffix(parts[0].name, "_a")
			if c["BR2_TARGET_ROOTFS_EXT2_LABEL"] != label || c["BR2_TARGET_ROOTFS_EXT2_SIZE"] != fmt.Sprintf("%dM", parts[0].mib) {
				t.Errorf("%s: root file system %q of %q, want %q of %dM", def, c["BR2_TARGET_ROOTFS_EXT2_LABEL"], c["BR2_TARGET_ROOTFS_EXT2_SIZE"], label, parts[0].mib)
			}
			for _, k := range []string{"BR2_ROOTFS_POST_BUILD_SCRIPT", "BR2_ROOTFS_POST_IMAGE_SCRIPT", "BR2_PACKAGE_BUSYBOX_CONFIG_FRAGMENT_FILES"} {
				p := strings.Replace(c[k], "$(BR2_EXTERNAL_SWARMBOX_PATH)/", "", 1)
				fi, err := os.Stat(p)
				if err != nil {
					t.Errorf("%s: %s = %q: %v", def, k, c[k], err)
					continue
				}
				if strings.HasSuffix(p, ".sh") && fi.Mode()&0o111 == 0 {
					t.Errorf("%s is not executable", p)
				}
				if k != "BR2_PACKAGE_BUSYBOX_CONFIG_FRAGMENT_FILES" && !strings.HasPrefix(p, board+"/") {
					t.Errorf("%s: %s is not in %s", def, p, board)
				}
			}
			cfg, err := parseGenimage(string(mustRead(t, board+"/genimage.cfg")))
			if err != nil {
				t.Fatal(err)
			}
			checkLayout(t, cfg, parts)
		})
	}
	common := string(mustRead(t, "board/common/post-build.sh"))
	for _, f := range []string{"rc", "media-disk", "dbus.conf", "modules", "partitions", "udhcpc.script"} {
		if !strings.Contains(common, `"$D/`+f+`"`) {
			t.Errorf("board/common/post-build.sh does not install scripts/image.d/%s", f)
		}
		if _, err := os.Stat("../scripts/image.d/" + f); err != nil {
			t.Error(err)
		}
	}
}

// TestBoardCommandLines: every swarmbox.* kernel parameter a board boots with is one the init
// reads, and a real board (no QEMU user-mode network) asks for its address by DHCP and names
// the interface its neighbours are on.
func TestBoardCommandLines(t *testing.T) {
	rc := string(mustRead(t, "../scripts/image.d/rc"))
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`arg (swarmbox\.[a-z_]+)`).FindAllStringSubmatch(rc, -1) {
		known[m[1]] = true
	}
	if !strings.Contains(rc, "net=$(arg swarmbox.net)") || !strings.Contains(rc, `"$net" = dhcp`) {
		t.Fatal("the init no longer reads swarmbox.net=dhcp; update this test with it")
	}
	for _, f := range []string{"board/raspberrypi4-64/cmdline.txt", "board/qemu_aarch64_virt/post-image.sh"} {
		params := map[string]string{}
		for _, w := range strings.FieldsFunc(string(mustRead(t, f)), func(r rune) bool { return unicode.IsSpace(r) || r == '"' }) {
			if k, v, ok := strings.Cut(w, "="); ok && strings.HasPrefix(k, "swarmbox.") {
				params[k] = v
				if !known[k] {
					t.Errorf("%s boots with %s, which scripts/image.d/rc does not read", f, w)
				}
			}
		}
		if strings.HasPrefix(f, "board/raspberrypi4-64/") && (params["swarmbox.net"] != "dhcp" || params["swarmbox.lan"] == "") {
			t.Errorf("%s: a real board needs swarmbox.net=dhcp and swarmbox.lan=IF (its home LAN), got %v", f, params)
		}
	}
}

// checkLayout compares a genimage disk's partitions (a boot partition may come first) with the
// project's.
func checkLayout(t *testing.T, cfg []node, parts []partition) {
	t.Helper()
	images := map[string]node{}
	var disk *node
	for i, n := range cfg {
		if n.kind != "image" {
			continue
		}
		images[n.name] = n
		if n.child("hdimage") != nil {
			disk = &cfg[i]
		}
	}
	if disk == nil {
		t.Fatal("genimage.cfg has no hdimage")
	}
	if pt := disk.child("hdimage").attrs["partition-table-type"]; pt != "gpt" {
		t.Errorf("partition table %q, want gpt like make image", pt)
	}
	var got []node
	for _, c := range disk.children {
		if c.kind == "partition" && c.name != "boot" {
			got = append(got, c)
		}
	}
	if len(got) != len(parts) {
		t.Fatalf("genimage has %d data partitions, the project %d", len(got), len(parts))
	}
	for i, p := range parts {
		g := got[i]
		if g.name != p.name {
			t.Errorf("partition %d is %q, want %q", i+1, g.name, p.name)
		}
		size := g.attrs["size"]
		if img, ok := images[g.attrs["image"]]; ok {
			if size == "" {
				size = img.attrs["size"]
			}
			if e := img.child("ext4"); e == nil || e.attrs["label"] != p.name {
				t.Errorf("partition %s: its image %s is not ext4 labelled %q (the init mounts by label)", p.name, img.name, p.name)
			}
		} else if !slotPartition(p.name) {
			t.Errorf("partition %s: image %q is not defined", p.name, g.attrs["image"])
		}
		if size != fmt.Sprintf("%dM", p.mib) {
			t.Errorf("partition %s: size %q, want %dM", p.name, size, p.mib)
		}
	}
}

// slotPartition: the root slots and the boot-control record have no ext4 image labelled by
// their name (Buildroot's rootfs.ext4 goes into root_a; root_b and bootctl start empty).
func slotPartition(name string) bool {
	return name == "root" || name == "root_a" || name == "root_b" || name == "bootctl"
}

// node is a genimage section: `kind [name] { key = value; sections }`.
type node struct {
	kind, name string
	attrs      map[string]string
	children   []node
}

func (n *node) child(kind string) *node {
	i := slices.IndexFunc(n.children, func(c node) bool { return c.kind == kind })
	if i < 0 {
		return nil
	}
	return &n.children[i]
}

// parseGenimage reads the subset of genimage's libconfuse syntax the boards use.
func parseGenimage(s string) ([]node, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	root, err := p.body(0)
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, fmt.Errorf("genimage: unexpected %q", p.toks[p.i])
	}
	return root.children, nil
}

func tokenize(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case unicode.IsSpace(rune(c)) || c == ',':
			i++
		case c == '{' || c == '}' || c == '=':
			out = append(out, string(c))
			i++
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, errors.New("genimage: unterminated string")
			}
			out = append(out, s[i:i+j+2])
			i += j + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n{}=,#\"", rune(s[j])) {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out, nil
}

type parser struct {
	toks []string
	i    int
}

func (p *parser) body(depth int) (node, error) {
	n := node{attrs: map[string]string{}}
	if depth > 16 {
		return n, errors.New("genimage: nested too deep")
	}
	for p.i < len(p.toks) && p.toks[p.i] != "}" {
		key := p.toks[p.i]
		p.i++
		if p.i >= len(p.toks) {
			return n, fmt.Errorf("genimage: %q at the end", key)
		}
		switch {
		case p.toks[p.i] == "=" && p.i+1 < len(p.toks) && p.toks[p.i+1] == "{": // list
			p.i += 2
			for p.i < len(p.toks) && p.toks[p.i] != "}" {
				p.i++
			}
			if p.i >= len(p.toks) {
				return n, errors.New("genimage: unterminated list")
			}
			p.i++
		case p.toks[p.i] == "=":
			if p.i+1 >= len(p.toks) {
				return n, fmt.Errorf("genimage: %s has no value", key)
			}
			n.attrs[key] = strings.Trim(p.toks[p.i+1], `"`)
			p.i += 2
		default:
			c := node{}
			if p.toks[p.i] != "{" {
				c.name = strings.Trim(p.toks[p.i], `"`)
				p.i++
			}
			if p.i >= len(p.toks) || p.toks[p.i] != "{" {
				return n, fmt.Errorf("genimage: %s %s has no body", key, c.name)
			}
			p.i++
			b, err := p.body(depth + 1)
			if err != nil {
				return n, err
			}
			if p.i >= len(p.toks) {
				return n, fmt.Errorf("genimage: %s %s is not closed", key, c.name)
			}
			p.i++
			b.kind, b.name = key, c.name
			n.children = append(n.children, b)
		}
	}
	return n, nil
}

func TestParseGenimageRefusesDamage(t *testing.T) {
	for _, s := range []string{`image x {`, `image x { size = }`, `image "x`, `image x { files = { "a" }`, `}`, `image`} {
		if _, err := parseGenimage(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

func FuzzParseGenimage(f *testing.F) {
	f.Add(`image a.img { hdimage { partition-table-type = "gpt" } partition root { image = "r" size = 64M } }`)
	f.Add(`image boot.vfat { vfat { files = { "a", "b" } } size = 8M }`)
	f.Fuzz(func(t *testing.T, s string) {
		parseGenimage(s)
	})
}
