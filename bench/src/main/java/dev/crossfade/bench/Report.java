package dev.crossfade.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The results of one run: per area a table of figures, each measured beside its reference in the same run and stated
 * as a ratio against a target. Rendered as Markdown for {@code docs/benchmarks.md}.
 */
final class Report {
    /** One figure: what Crossfade did, what the reference did, and whether the ratio meets the target. */
    record Row(
            String figure,
            String crossfade,
            String reference,
            String referenceValue,
            String ratio,
            String target,
            Boolean pass) {
        String verdict() {
            return pass == null ? "—" : pass ? "**pass**" : "**FAIL**";
        }
    }

    /** A table of rows under a heading, with free-text notes (settings, caveats) below it. */
    static final class Section {
        final String title;
        final List<Row> rows = new ArrayList<>();
        final List<String> notes = new ArrayList<>();

        Section(String title) {
            this.title = title;
        }

        Section row(Row r) {
            rows.add(r);
            System.out.printf(
                    Locale.ROOT,
                    "[bench] %-48s crossfade %-22s %s %-22s ratio %-8s target %-10s %s%n",
                    r.figure(),
                    r.crossfade(),
                    r.reference(),
                    r.referenceValue(),
                    r.ratio(),
                    r.target(),
                    r.verdict());
            return this;
        }

        Section note(String n) {
            notes.add(n);
            return this;
        }
    }

    private final List<Section> sections = new ArrayList<>();

    Section section(String title) {
        Section s = new Section(title);
        sections.add(s);
        return s;
    }

    List<Section> sections() {
        return sections;
    }

    String markdown() {
        StringBuilder md = new StringBuilder();
        for (Section s : sections) {
            md.append("### ").append(s.title).append("\n\n");
            if (!s.rows.isEmpty()) {
                md.append("| figure | Crossfade | reference | reference value | ratio | target | result |\n");
                md.append("| --- | --- | --- | --- | --- | --- | --- |\n");
                for (Row r : s.rows) {
                    md.append("| ")
                            .append(r.figure())
                            .append(" | ")
                            .append(r.crossfade())
                            .append(" | ")
                            .append(r.reference())
                            .append(" | ")
                            .append(r.referenceValue())
                            .append(" | ")
                            .append(r.ratio())
                            .append(" | ")
                            .append(r.target())
                            .append(" | ")
                            .append(r.verdict())
                            .append(" |\n");
                }
                md.append('\n');
            }
            for (String n : s.notes) {
                md.append("- ").append(n).append('\n');
            }
            if (!s.notes.isEmpty()) {
                md.append('\n');
            }
        }
        return md.toString();
    }

    // ---- formatting shared by the benches ----

    static String rate(double perSecond) {
        return String.format(Locale.ROOT, "%,.0f jobs/s", perSecond);
    }

    static String ratio(double r) {
        return String.format(Locale.ROOT, "%.2f×", r);
    }

    static String percent(double r) {
        return String.format(Locale.ROOT, "%.0f%%", 100 * r);
    }

    static String micros(double nanos) {
        return nanos >= 1_000_000
                ? String.format(Locale.ROOT, "%.2f ms", nanos / 1e6)
                : String.format(Locale.ROOT, "%.1f µs", nanos / 1e3);
    }
}
