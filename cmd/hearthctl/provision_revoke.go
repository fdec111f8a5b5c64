package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/provisioning/broker"
	hsync "github.com/hearth-home/hearth/sync"
)

// provisionRevoke: hearthctl provision revoke --ca DIR (--device ID |
// --person ID | --serial HEX | --cert FILE) [--reason TEXT]. It adds the
// certificates to the organisation's revoked list, signs both CRLs again
// and says where they go. A person is shut out everywhere at once: their
// certificates (CRL), their broker password and ACL entry (the broker's
// files made again into --out, ORG/broker by default) and every allowlist
// listing them (re-signed without them, serial + 1; published with
// --publish, else by hearthctl allow --publish).
func (e *env) provisionRevoke(args []string) error {
	return e.provisionRevokeCtx(context.Background(), args)
}

// provisionRevokeCtx is provisionRevoke with the command's context (it may
// publish allowlists); init in provision_person.go puts it in commands.
func (e *env) provisionRevokeCtx(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("provision revoke", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	orgDir := fs.String("ca", "", "the organisation's `folder` (provision ca init)")
	var m provisioning.Match
	fs.StringVar(&m.Device, "device", "", "revoke every certificate issued to this device `id`")
	fs.StringVar(&m.Person, "person", "", "revoke every certificate issued to this person `id` (provision client-cert --id)")
	fs.StringVar(&m.Serial, "serial", "", "revoke one certificate by its serial number in `hex`")
	certFile := fs.String("cert", "", "revoke the certificate in this PEM `file` (client.crt, server.crt)")
	reason := fs.String("reason", "", "why, for the record (stolen, retired, left, …)")
	out := fs.String("out", "", "with --person: `folder` for the broker's files made again (default ORG/broker)")
	publish := fs.Bool("publish", false, "with --person: publish the re-signed allowlists now (--broker, --tls as a fleet admin)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *orgDir == "" || fs.NArg() > 0 {
		return errors.New("provision revoke: --ca and one of --device, --person, --serial or --cert are required")
	}
	if *certFile != "" {
		b, err := os.ReadFile(*certFile)
		if err != nil {
			return fmt.Errorf("provision revoke: %w", err)
		}
		m.Cert = b
	}
	if m.Person != "" {
		if m.Device != "" || m.Serial != "" || m.Cert != nil {
			return errors.New("provision revoke: name exactly one of --device, --person, --serial or --cert")
		}
		return e.revokePerson(ctx, *orgDir, m.Person, *reason, *out, *publish)
	}
	if *out != "" || *publish {
		return errors.New("provision revoke: --out and --publish go with --person")
	}
	res, err := provisioning.Revoke(*orgDir, m, *reason, e.now())
	if err := e.printRevoked(*orgDir, res, err); err != nil {
		return err
	}
	printCRLs(e.stdout, *orgDir, res.CRLs, "then restart the broker (systemctl restart mosquitto): a reload (SIGHUP) checks new\n"+
		"connections against the new CRLs, but leaves a revoked device or person that is connected now connected")
	return nil
}

// revokePerson shuts person out in the records (provisioning.RevokePerson),
// writes the broker's files again and publishes the re-signed lists when
// asked.
func (e *env) revokePerson(ctx context.Context, orgDir, person, reason, out string, publish bool) error {
	pr, err := provisioning.RevokePerson(orgDir, person, reason, e.now())
	if err := e.printRevoked(orgDir, pr.Certs, err); err != nil {
		return err
	}
	if pr.NoCertificate {
		fmt.Fprintf(e.stdout, "no certificate of %s in %s (a caller made with caller new?)\n", person, provisioning.IssuedFile)
	}
	if pr.Registry {
		fmt.Fprintf(e.stdout, "%s marked revoked in the registry; their broker password is gone\n", person)
	}
	devs := slices.Sorted(maps.Keys(pr.Allowlists))
	for _, d := range devs {
		fmt.Fprintf(e.stdout, "allowlist of %s signed again without %s: serial %d (recorded in %s)\n",
			d, person, pr.Allowlists[d].Serial, filepath.Join(orgDir, provisioning.AllowlistsDir, d+".json"))
	}
	if _, err := writeBrokerFiles(e.stdout, orgDir, out); err != nil {
		return fmt.Errorf("provision revoke: %w", err)
	}
	fmt.Fprintln(e.stdout, "then RESTART the broker (systemctl restart mosquitto): a reload refuses their password, certificate and\n"+
		"topics to new connections, but one of theirs that is open now keeps its connection until it closes")
	if len(devs) == 0 {
		return nil
	}
	if !publish {
		fmt.Fprintf(e.stdout, "publish the allowlists (the devices refuse %s only once they have them):\n"+
			"  hearthctl --broker URL --tls ADMIN-DIR allow --org %s --publish\n", person, orgDir)
		return nil
	}
	org, err := provisioning.LoadOrg(orgDir)
	if err != nil {
		return fmt.Errorf("provision revoke: %w", err)
	}
	conn, err := hsync.DialTLS(ctx, e.broker, "hearthctl", e.tls)
	if err != nil {
		return fmt.Errorf("provision revoke: publish: %w (hearthctl allow --org %s --publish publishes them later)", err, orgDir)
	}
	defer conn.Close()
	return e.publishRecorded(ctx, conn, org, orgDir, pr.Allowlists)
}

// printRevoked says what a revoke did (or why it failed) with the
// certificates.
func (e *env) printRevoked(orgDir string, res provisioning.RevokeResult, err error) error {
	if res.Unreadable > 0 {
		fmt.Fprintf(e.stderr, "warning: %d unreadable lines in %s were skipped\n", res.Unreadable, filepath.Join(orgDir, provisioning.IssuedFile))
	}
	if err != nil {
		return fmt.Errorf("provision %w", err) // "provision revoke: ..."
	}
	for _, r := range res.Revoked {
		fmt.Fprintf(e.stdout, "revoked %s %s: certificate %s%s\n", r.Kind, r.ID, r.Serial, expires(r.NotAfter))
	}
	for _, r := range res.Already {
		fmt.Fprintf(e.stdout, "already revoked %s %s: certificate %s (on %s)\n", r.Kind, r.ID, r.Serial, r.At.Format(time.DateOnly))
	}
	return nil
}

// provisionCRL: hearthctl provision crl --ca DIR signs both CRLs again,
// unchanged, for another CRLValid: an installer's cron job.
func (e *env) provisionCRL(args []string) error {
	fs := flag.NewFlagSet("provision crl", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	orgDir := fs.String("ca", "", "the organisation's `folder` (provision ca init)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *orgDir == "" || fs.NArg() > 0 {
		return errors.New("provision crl: --ca is required")
	}
	crls, err := provisioning.WriteCRLs(*orgDir, e.now())
	if err != nil {
		return fmt.Errorf("provision crl: %w", err)
	}
	printCRLs(e.stdout, *orgDir, crls, "then reload the broker (systemctl reload mosquitto: nothing new is revoked, so a reload does)")
	return nil
}

// printCRLs says which CRL goes where on the broker, what to do to the
// broker then, and until when the CRLs hold: an expired CRL shuts out
// every client of its listener.
func printCRLs(w io.Writer, orgDir string, crls []provisioning.CRL, then string) {
	if len(crls) == 0 {
		return
	}
	fmt.Fprintf(w, "CRLs signed (number %d), valid until %s; copy them to the broker:\n",
		crls[0].Number, crls[0].NextUpdate.Format(time.DateOnly))
	for _, c := range crls {
		to, who := broker.CRLFile, "devices'"
		if c.Kind == provisioning.KindPerson {
			to, who = broker.PeopleCRLFile, "people's"
		}
		fmt.Fprintf(w, "  %s -> %s  (the %s listener; %d revoked)\n", c.Path, filepath.Join(broker.ConfDir, to), who, c.Entries)
	}
	if len(crls) == 1 {
		fmt.Fprintf(w, "  (no people CA in %s yet: the people's listener needs none until provision client-cert makes it)\n", orgDir)
	}
	fmt.Fprintln(w, then)
	fmt.Fprintf(w, "IMPORTANT: sign them again before %s (hearthctl provision crl --ca %s, e.g. monthly from cron)\n"+
		"and copy them again: once a CRL has expired the broker refuses EVERY device or person on its listener\n",
		crls[0].NextUpdate.Format(time.DateOnly), orgDir)
}

func expires(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return " (it would have expired " + t.Format(time.DateOnly) + ")"
}
