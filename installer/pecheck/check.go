package main

import (
	"path/filepath"
	"regexp"
	"strings"
)

// Windows 10/11 and Server 2016+: the manifest must name this one at least.
const win10 = "{8e0f7a12-bfb3-4fe8-b9a5-48fd50a15a9a}"

var fourPart = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)

// check returns what is missing or wrong in one exe's identity.
func check(path, version, company string) []string {
	r, err := readResources(path)
	if err != nil {
		return []string{err.Error()}
	}
	return judge(r, filepath.Base(path), version, company)
}

func judge(r Resources, base, version, company string) []string {
	var p []string
	switch {
	case r.FileVersion == "":
		p = append(p, "no version resource")
	case r.FileVersion == "0.0.0.0" || !fourPart.MatchString(r.FileVersion):
		p = append(p, "file version "+r.FileVersion+" is not the build's")
	case version != "" && r.FileVersion != version:
		p = append(p, "file version "+r.FileVersion+", want "+version)
	}
	if r.FileVersion != "" && r.Strings["FileVersion"] != r.FileVersion {
		p = append(p, "the FileVersion string "+r.Strings["FileVersion"]+" differs from the fixed version "+r.FileVersion)
	}
	for _, k := range []string{"CompanyName", "LegalCopyright", "ProductName", "FileDescription", "ProductVersion"} {
		if strings.TrimSpace(r.Strings[k]) == "" {
			p = append(p, "no "+k)
		}
	}
	if company != "" && r.Strings["CompanyName"] != company {
		p = append(p, "CompanyName "+r.Strings["CompanyName"]+", want "+company+" (the signing certificate's subject)")
	}
	if !strings.EqualFold(r.Strings["OriginalFilename"], base) {
		p = append(p, "OriginalFilename "+r.Strings["OriginalFilename"]+", want "+base)
	}
	if !r.HasIcon {
		p = append(p, "no icon")
	}
	m := strings.ToLower(r.Manifest)
	if m == "" {
		return append(p, "no manifest")
	}
	for _, need := range []struct{ text, why string }{
		{"supportedos id=\"" + win10 + "\"", "supportedOS Windows 10/11"},
		{">permonitorv2<", "PerMonitorV2 DPI awareness"},
		{"level=\"asinvoker\"", "requestedExecutionLevel asInvoker"},
		{">true</longpathaware>", "longPathAware"},
	} {
		if !strings.Contains(m, need.text) {
			p = append(p, "the manifest lacks "+need.why)
		}
	}
	return p
}
