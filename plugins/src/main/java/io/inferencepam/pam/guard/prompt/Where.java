package io.inferencepam.pam.guard.prompt;

/**
 * A place in a request body, built as the walk descends and rendered only when something matched
 * there ({@code messages[2].content[0].text}).
 */
final class Where {
    static final Where ROOT = new Where(null, null, -1);

    private final Where parent;
    private final String field;
    private final int index;

    private Where(Where parent, String field, int index) {
        this.parent = parent;
        this.field = field;
        this.index = index;
    }

    Where field(String name) {
        return new Where(this, name, -1);
    }

    Where index(int i) {
        return new Where(this, null, i);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        render(sb);
        return sb.toString();
    }

    private void render(StringBuilder sb) {
        if (parent == null) {
            return;
        }
        parent.render(sb);
        if (field != null) {
            if (sb.length() > 0) {
                sb.append('.');
            }
            sb.append(field);
        } else {
            sb.append('[').append(index).append(']');
        }
    }
}
