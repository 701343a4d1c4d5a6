package io.inferencepam.pam.approval;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.EnumSet;
import java.util.Set;

/**
 * Business hours in one time zone: the days a window opens on and the time it opens and closes
 * ({@code from} inclusive, {@code to} exclusive). A window with {@code from} after {@code to} runs
 * overnight and belongs to the day it opens on ({@code FRI 22:00–06:00} covers Saturday 03:00).
 */
record TimeWindow(ZoneId zone, Set<DayOfWeek> days, LocalTime from, LocalTime to) {

    TimeWindow {
        days = days.isEmpty() ? EnumSet.allOf(DayOfWeek.class) : EnumSet.copyOf(days);
        if (from.equals(to)) {
            throw new IllegalArgumentException("from and to are equal: the window would be empty");
        }
    }

    boolean contains(Instant instant) {
        ZonedDateTime t = instant.atZone(zone);
        LocalTime time = t.toLocalTime();
        DayOfWeek day = t.getDayOfWeek();
        if (!from.isAfter(to)) {
            return days.contains(day) && !time.isBefore(from) && time.isBefore(to);
        }
        // overnight: the evening part on an opening day, or the morning part after one
        return (days.contains(day) && !time.isBefore(from)) || (days.contains(day.minus(1)) && time.isBefore(to));
    }
}
