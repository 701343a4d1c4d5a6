package io.inferencepam.pam.guard;

/** Whether pam-guard refuses what its rules block, or only records it. */
enum GuardMode {
    /** Refuse (the default). */
    ENFORCE,
    /** Record what would have been refused (a decision in the call's facts, a metric) and let it pass. */
    OBSERVE
}
