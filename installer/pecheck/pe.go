package main

import (
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
)

// Resource type ids (winuser.h).
const (
	rtGroupIcon = 14
	rtVersion   = 16
	rtManifest  = 24
)

// Resources are what pecheck reads from an exe.
type Resources struct {
	FileVersion string            // the fixed file version, a.b.c.d
	Strings     map[string]string // StringFileInfo values (CompanyName, FileVersion, ...)
	Manifest    string
	HasIcon     bool
}

// readResources walks an exe's .rsrc section: type, then name, then language.
func readResources(path string) (Resources, error) {
	f, err := pe.Open(path)
	if err != nil {
		return Resources{}, err
	}
	defer f.Close()
	sec := f.Section(".rsrc")
	if sec == nil {
		return Resources{}, errors.New("no .rsrc section: the exe carries no resources at all")
	}
	data, err := sec.Data()
	if err != nil {
		return Resources{}, err
	}
	r := Resources{Strings: map[string]string{}}
	leaf := func(off uint32) ([]byte, error) {
		if int(off)+16 > len(data) {
			return nil, errors.New("resource data entry out of range")
		}
		rva, size := binary.LittleEndian.Uint32(data[off:]), binary.LittleEndian.Uint32(data[off+4:])
		start := int64(rva) - int64(sec.VirtualAddress)
		if start < 0 || start+int64(size) > int64(len(data)) {
			return nil, errors.New("resource data out of the section")
		}
		return data[start : start+int64(size)], nil
	}
	// first returns the data of the first language of the first name under a type.
	var first func(off uint32, depth int) ([]byte, error)
	first = func(off uint32, depth int) ([]byte, error) {
		ents, err := entries(data, off)
		if err != nil || len(ents) == 0 {
			return nil, errors.New("empty resource directory")
		}
		e := ents[0]
		if e.dir {
			if depth > 3 {
				return nil, errors.New("resource tree too deep")
			}
			return first(e.off, depth+1)
		}
		return leaf(e.off)
	}
	types, err := entries(data, 0)
	if err != nil {
		return r, err
	}
	for _, t := range types {
		if !t.dir {
			continue
		}
		switch t.id {
		case rtGroupIcon:
			r.HasIcon = true
		case rtManifest:
			b, err := first(t.off, 1)
			if err != nil {
				return r, fmt.Errorf("manifest: %w", err)
			}
			r.Manifest = string(b)
		case rtVersion:
			b, err := first(t.off, 1)
			if err != nil {
				return r, fmt.Errorf("version: %w", err)
			}
			if err := parseVersion(b, &r); err != nil {
				return r, fmt.Errorf("version: %w", err)
			}
		}
	}
	return r, nil
}

type entry struct {
	id  uint32
	dir bool
	off uint32
}

func entries(data []byte, off uint32) ([]entry, error) {
	if int(off)+16 > len(data) {
		return nil, errors.New("resource directory out of range")
	}
	n := int(binary.LittleEndian.Uint16(data[off+12:])) + int(binary.LittleEndian.Uint16(data[off+14:]))
	var out []entry
	for i := range n {
		p := int(off) + 16 + 8*i
		if p+8 > len(data) {
			return nil, errors.New("resource entry out of range")
		}
		name, to := binary.LittleEndian.Uint32(data[p:]), binary.LittleEndian.Uint32(data[p+4:])
		out = append(out, entry{id: name, dir: to&0x80000000 != 0, off: to & 0x7fffffff})
	}
	return out, nil
}

// parseVersion reads VS_VERSIONINFO: a tree of blocks, each length, value length,
// type, a UTF-16 key, then its value and children, 32-bit aligned.
func parseVersion(b []byte, r *Resources) error {
	var walk func(b []byte, path []string) error
	walk = func(b []byte, path []string) error {
		for len(b) >= 6 {
			length, vlen, typ := int(binary.LittleEndian.Uint16(b)), int(binary.LittleEndian.Uint16(b[2:])), binary.LittleEndian.Uint16(b[4:])
			if length < 6 || length > len(b) {
				return errors.New("bad block length")
			}
			node := b[:length]
			key, n := utf16z(node[6:])
			p := min(align4(6+n), len(node))
			vbytes := vlen
			if typ == 1 {
				vbytes = vlen * 2
			}
			if p+vbytes > len(node) {
				vbytes = max(0, len(node)-p)
			}
			value := node[p : p+vbytes]
			switch {
			case key == "VS_VERSION_INFO" && len(value) >= 52:
				if binary.LittleEndian.Uint32(value) != 0xFEEF04BD {
					return errors.New("no VS_FIXEDFILEINFO signature")
				}
				ms, ls := binary.LittleEndian.Uint32(value[8:]), binary.LittleEndian.Uint32(value[12:])
				r.FileVersion = fmt.Sprintf("%d.%d.%d.%d", ms>>16, ms&0xffff, ls>>16, ls&0xffff)
			case len(path) == 3 && path[1] == "StringFileInfo" && typ == 1:
				s, _ := utf16z(value)
				r.Strings[key] = s
			}
			if err := walk(node[min(align4(p+vbytes), len(node)):], append(path, key)); err != nil {
				return err
			}
			b = b[min(align4(length), len(b)):]
		}
		return nil
	}
	return walk(b, nil)
}

func align4(n int) int { return (n + 3) &^ 3 }

// utf16z decodes a NUL-terminated UTF-16LE string and returns it with the bytes used.
func utf16z(b []byte) (string, int) {
	var u []uint16
	i := 0
	for ; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			return string(utf16.Decode(u)), i + 2
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u)), i
}
