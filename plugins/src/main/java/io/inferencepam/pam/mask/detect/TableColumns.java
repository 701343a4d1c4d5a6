package io.inferencepam.pam.mask.detect;

/**
 * The header of the table column a position is in: for CSV/TSV/semicolon rows and Markdown tables,
 * a block of consecutive lines with the same number of separators (',', ';', tab or '|') whose first
 * line names the columns. Lines are read forward once and the column of ascending positions is
 * counted incrementally, so asking for every candidate of a text stays linear. Confined to one scan.
 */
final class TableColumns {
    private static final char[] SEPS = {',', ';', '\t', '|'};
    private final String s;
    /** Start of the next line not yet read. */
    private int next;
    private int lineStart = -1;
    private int blockStart = -1;
    private char blockSep;
    private int blockCount = -1;
    private String[] header;
    private int colPos;
    private int colCount;

    TableColumns(String s) {
        this.s = s;
    }

    /** The header cell (trimmed, unquoted) of the column {@code pos} is in, or null; positions must ascend. */
    String headerAt(int pos) {
        while (next <= pos && next < s.length()) {
            int nl = s.indexOf('\n', next);
            int end = nl < 0 ? s.length() : nl;
            readLine(next, end);
            next = end + 1;
        }
        if (blockStart < 0 || lineStart == blockStart || blockCount <= 0) {
            return null;
        }
        if (colPos < lineStart) {
            colPos = lineStart;
            colCount = 0;
        }
        for (; colPos < pos; colPos++) {
            if (s.charAt(colPos) == blockSep) {
                colCount++;
            }
        }
        if (header == null) {
            header = cells(blockStart);
        }
        int col = colCount - (blockSep == '|' && s.charAt(firstNonBlank(blockStart)) == '|' ? 1 : 0);
        return col >= 0 && col < header.length ? header[col] : null;
    }

    private void readLine(int from, int to) {
        int[] counts = new int[SEPS.length];
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            for (int k = 0; k < SEPS.length; k++) {
                if (c == SEPS[k]) {
                    counts[k]++;
                }
            }
        }
        lineStart = from;
        if (blockStart >= 0 && blockCount > 0 && counts[indexOf(blockSep)] == blockCount) {
            return; // the block goes on
        }
        int best = 0;
        for (int k = 1; k < SEPS.length; k++) {
            if (counts[k] > counts[best]) {
                best = k;
            }
        }
        blockStart = from;
        blockSep = SEPS[best];
        blockCount = counts[best];
        header = null;
    }

    private static int indexOf(char sep) {
        for (int k = 0; k < SEPS.length; k++) {
            if (SEPS[k] == sep) {
                return k;
            }
        }
        return 0;
    }

    private int firstNonBlank(int from) {
        int i = from;
        while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t') && s.charAt(i) != blockSep) {
            i++;
        }
        return Math.min(i, s.length() - 1);
    }

    private String[] cells(int from) {
        int nl = s.indexOf('\n', from);
        String line = s.substring(from, nl < 0 ? s.length() : nl).strip();
        if (blockSep == '|' && line.startsWith("|")) {
            line = line.substring(1);
        }
        String[] parts = line.split(java.util.regex.Pattern.quote(String.valueOf(blockSep)), 256);
        for (int k = 0; k < parts.length; k++) {
            String p = parts[k].strip();
            if (p.length() >= 2 && (p.startsWith("\"") && p.endsWith("\""))) {
                p = p.substring(1, p.length() - 1);
            }
            parts[k] = p;
        }
        return parts;
    }
}
