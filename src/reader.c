/* The directory reader: walks the guest cap directory in guest memory (see reader.h). */
