package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/provisioning/broker"
)

// The people commands (provision person, provision broker-files), listed
// in run.go's usage.
func init() {
	commands = append(commands,
		command{name: "provision person", run: noCtx((*env).provisionPerson)},
		command{name: "provision broker-files", run: noCtx((*env).provisionBrokerFiles)},
	)
	for i := range commands {
		if commands[i].name == "provision revoke" {
			commands[i].run = (*env).provisionRevokeCtx // it may publish allowlists
		}
	}
}

// provisionPerson: hearthctl provision person --ca DIR --id ID --name NAME
// --out DIR [--admin] [--no-password] [--valid 2y].
func (e *env) provisionPerson(args []string) error {
	fs := flag.NewFlagSet("provision person", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	orgDir := fs.String("ca", "", "the organisation's `folder` (provision ca init)")
	id := fs.String("id", "", "the person's `id`: their user name at the broker and their id on allowlists")
	name := fs.String("name", "", "their `name` as screens show it (\"Nurse Eva (North Care)\")")
	out := fs.String("out", "", "`folder` for their files (give it to them only)")
	admin := fs.Bool("admin", false, "a fleet admin: at the broker, every device's topics, allowlists and admin commands")
	noPassword := fs.Bool("no-password", false, "no broker password: the certificate only (hearthctl, not the browser)")
	validStr := fs.String("valid", "2y", "the certificate's life (`2y`, 90d, 2160h)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *orgDir == "" || *id == "" || *name == "" || *out == "" || fs.NArg() > 0 {
		return errors.New("provision person: --ca, --id, --name and --out are required")
	}
	valid, err := parseValid(*validStr)
	if err != nil {
		return fmt.Errorf("provision person: --valid: %w", err)
	}
	pw, err := broker.NewPerson(*orgDir, broker.PersonSpec{ID: *id, Name: *name, Admin: *admin, Valid: valid, NoPassword: *noPassword}, e.now(), *out)
	if err != nil {
		return fmt.Errorf("provision person: %w", err)
	}
	fmt.Fprintf(e.stdout, "person %s (%s) in %s:\n", *id, *name, *out)
	fmt.Fprintf(e.stdout, "  %s, %s, %s  certificate for hearthctl --tls %s (port %d)\n",
		provisioning.ClientCertFile, provisioning.ClientKeyFile, provisioning.CACertFile, *out, broker.PeoplePort)
	fmt.Fprintf(e.stdout, "  %s, %s, %s  signing key for --caller %s and the browser's one-time import\n",
		provisioning.CallerFile, provisioning.CallerKeyFile, provisioning.CallerPubFile, *out)
	if pw != "" {
		fmt.Fprintf(e.stdout, "  %s  their password for the browser (user name %s, port %d)\n", broker.PasswordFile, *id, broker.PeopleWSPort)
	}
	if *admin {
		fmt.Fprintln(e.stdout, "  a fleet admin")
	}
	fmt.Fprintf(e.stdout, "next: hearthctl allow --org %s --person %s --device ID --may RIGHTS, then\n"+
		"hearthctl provision broker-files --ca %s and install the files on the broker\n", *orgDir, *id, *orgDir)
	return nil
}

// provisionBrokerFiles: hearthctl provision broker-files --ca DIR [--out DIR].
func (e *env) provisionBrokerFiles(args []string) error {
	fs := flag.NewFlagSet("provision broker-files", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	orgDir := fs.String("ca", "", "the organisation's `folder` (provision ca init)")
	out := fs.String("out", "", "`folder` to write them to (default ORG/broker)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *orgDir == "" || fs.NArg() > 0 {
		return errors.New("provision broker-files: --ca is required")
	}
	if _, err := writeBrokerFiles(e.stdout, *orgDir, *out); err != nil {
		return fmt.Errorf("provision %w", err)
	}
	fmt.Fprintln(e.stdout, "then reload the broker (systemctl reload mosquitto); after a revoke, restart it")
	return nil
}

// writeBrokerFiles writes the broker's files from the records into out
// (ORG/broker when empty) and says how to install them.
func writeBrokerFiles(stdout io.Writer, orgDir, out string) (broker.Written, error) {
	if out == "" {
		out = filepath.Join(orgDir, "broker")
	}
	w, err := broker.WriteFiles(orgDir, out)
	if err != nil {
		return w, err
	}
	fmt.Fprintf(stdout, "broker files in %s (%d people in %s): %s\n", out, w.People, broker.PeopleACLFile, strings.Join(w.Files, ", "))
	fmt.Fprintf(stdout, "install: cp %s/* %s/ && chown root:mosquitto %s/%s %s/%s && chmod 0640 %s/%s %s/%s\n",
		out, broker.ConfDir, broker.ConfDir, broker.PeopleACLFile, broker.ConfDir, broker.PeoplePasswdFile,
		broker.ConfDir, broker.PeopleACLFile, broker.ConfDir, broker.PeoplePasswdFile)
	return w, nil
}
